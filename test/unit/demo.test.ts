/** `demo --keep`: where it writes the config it ran with, and the commands it suggests next. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { demoPaths, keptDemoNotes } from '../../local/demo.js';

describe('kept demo', () => {
  it('keeps its config next to its state', () => {
    expect(demoPaths('.reshard/demo')).toEqual({ stateDir: join('.reshard/demo', 'state'), configFile: join('.reshard/demo', 'config.json') });
  });

  it('names the kept server and the commands that read the kept state', () => {
    const notes = keptDemoNotes('.reshard/demo', 3407).join('\n');
    expect(notes).toContain('mysql://root@127.0.0.1:3407/demo_src');
    expect(notes).toContain('npx tsx bin/reshard.ts status --config .reshard/demo/config.json --state-dir .reshard/demo/state');
    expect(notes).toMatch(/npx tsx bin\/reshard\.ts verify --config \.reshard\/demo\/config\.json --state-dir \.reshard\/demo\/state --report \S+\.html/);
  });
});
