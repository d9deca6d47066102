// Regenerate the TypeScript client from the committed IDL (`npm run generate`), or check
// that the committed client is what the IDL generates (`npm run check-generated`, run by CI).
import { mkdtempSync, readFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFromRoot, definedTypeNode } from 'codama';
import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';

const app = fileURLToPath(new URL('..', import.meta.url));
const idl = JSON.parse(readFileSync(join(app, '../idl/tidepool.json'), 'utf8'));
const check = process.argv.includes('--check');

const out = check ? mkdtempSync(join(tmpdir(), 'tidepool-codama-')) : app;
// renderers-js 2.2 does not render Codama's event nodes, and nodes-from-anchor moves the
// events' structs out of the defined types into them; each event's struct is given back as a
// defined type (without its 8-byte discriminator prefix) so the client gets its type and
// codecs. `src/events.ts` matches the discriminators and decodes with them.
// Optional list fields of instruction nodes are given their empty default, which
// renderers-js 2.2 expects to find.
const root = rootNodeFromAnchor(idl);
const eventTypes = root.program.events.map((event) => {
  const data = event.data.kind === 'hiddenPrefixTypeNode' ? event.data.type : event.data;
  return definedTypeNode({ name: event.name, docs: event.docs ?? [], type: data });
});
const instructions = root.program.instructions.map((ix) => ({
  ...ix,
  extraArguments: ix.extraArguments ?? [],
  remainingAccounts: ix.remainingAccounts ?? [],
  byteDeltas: ix.byteDeltas ?? [],
  discriminators: ix.discriminators ?? [],
  subInstructions: ix.subInstructions ?? [],
}));
const definedTypes = [...root.program.definedTypes, ...eventTypes];
const codama = createFromRoot({ ...root, program: { ...root.program, instructions, definedTypes, events: [] } });
await codama.accept(
  renderVisitor(out, {
    generatedFolder: 'src/generated',
    syncPackageJson: false,
    deleteFolderBeforeRendering: true,
  }),
);

if (check) {
  const files = (dir) =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
  const fresh = join(out, 'src/generated');
  const committed = join(app, 'src/generated');
  const a = files(fresh).map((f) => relative(fresh, f)).sort();
  const b = files(committed).map((f) => relative(committed, f)).sort();
  const stale = a.join() !== b.join() || a.some((f) => readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'));
  rmSync(out, { recursive: true, force: true });
  if (stale) {
    console.error('app/src/generated is stale: run `npm run generate` in app/ and commit the result');
    process.exit(1);
  }
  console.log('app/src/generated matches idl/tidepool.json');
} else {
  console.log('generated app/src/generated from idl/tidepool.json');
}
