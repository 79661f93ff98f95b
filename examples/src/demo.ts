// The demo: for now, the getting-started examples one after another (node, worker, routing).
const EXAMPLES = ["01-node", "02-worker", "03-routing", "03-routing-many-hops"];

for (const name of EXAMPLES) {
  console.log(`\n=== ${name} ===`);
  await import(`./${name}.js`);
}
