// A custom routing rule (config: routing: { algorithm: custom, module: ./examples/last3-router.mjs }).
// Receives the shard key text (first non-NULL shard key column) and the layout; returns db/table indexes.
export function route(shardKey, { databases, tablesPerDb }) {
  const n = Number(shardKey.slice(-4));
  if (!Number.isInteger(n)) throw new TypeError(`key ${shardKey} does not end in digits`);
  return { db: n % databases, table: Math.floor(n / databases) % tablesPerDb };
}
