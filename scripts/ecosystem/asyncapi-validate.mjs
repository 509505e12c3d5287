import { Parser, fromFile } from '@asyncapi/parser';
const parser = new Parser();
let failed = 0;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await fromFile(parser, file).parse();
  const errors = diagnostics.filter(d => d.severity === 0);
  if (!document || errors.length) {
    failed++;
    console.error(`${file}: ${errors.length} error(s)`);
    for (const e of errors.slice(0, 10)) console.error(`  ${e.code} at ${e.path.join('/')}: ${e.message}`);
  } else {
    console.log(`${file}: valid AsyncAPI ${document.version()} (${document.allMessages().length} messages, ${diagnostics.length} warnings)`);
  }
}
process.exit(failed ? 1 : 0);
