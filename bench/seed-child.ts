/** Generates the bench's source rows in a child process, so the generator's memory is not the copy's. */
import mysql from 'mysql2/promise';
import { seedOrders } from '../local/seed.js';

const [port, rows, database] = process.argv.slice(2);
const pool = mysql.createPool({ host: '127.0.0.1', port: Number(port), user: 'root', password: '', connectionLimit: 2 });
await seedOrders(pool, database!, { orders: Number(rows), itemsPerOrder: 0, seed: 1, batch: 5000 });
await pool.end();
