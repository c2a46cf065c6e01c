// What spec/public-surface.test.ts checks, computed in a process of its own: the names each
// entry point's built declarations export, and every public declaration that mentions a type
// the entry points do not export. Prints them as JSON. A process of its own because a
// TypeScript program left in a Jest worker made that worker too slow to exit ("A worker process
// has failed to exit gracefully").
import { resolve } from 'node:path';
import ts from 'typescript';

const [dist, ...entries] = process.argv.slice(2);
const files = entries.map((f) => resolve(dist, f));
const program = ts.createProgram(files, { strict: true, skipLibCheck: true, noEmit: true });
const checker = program.getTypeChecker();
const exportsOf = (file) => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)));
const resolveAlias = (symbol) => ((symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol);

const exported = Object.fromEntries(entries.map((entry, i) => [entry, exportsOf(files[i]).map((s) => s.name).sort()]));

const publicSymbols = new Set(files.flatMap((f) => exportsOf(f).map(resolveAlias)));
const leaks = new Set();
const inDist = (node) => resolve(node.getSourceFile().fileName).startsWith(dist);
const visit = (node, owner) => {
  // Every name used as a type (references, heritage clauses, typeof queries).
  let name = null;
  if (ts.isTypeReferenceNode(node)) name = node.typeName;
  else if (ts.isExpressionWithTypeArguments(node)) name = node.expression;
  else if (ts.isTypeQueryNode(node)) name = node.exprName;
  if (name !== null) {
    const symbol = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.left : name);
    if (symbol !== undefined) {
      const target = resolveAlias(symbol);
      const declaration = target.declarations?.[0];
      const isTypeParameter = declaration !== undefined && ts.isTypeParameterDeclaration(declaration);
      if (declaration !== undefined && inDist(declaration) && !isTypeParameter && !publicSymbols.has(target)) {
        leaks.add(`${owner} mentions ${target.name} (${declaration.getSourceFile().fileName.slice(dist.length + 1)})`);
      }
    }
  }
  ts.forEachChild(node, (child) => visit(child, owner));
};
for (const symbol of publicSymbols) {
  for (const declaration of symbol.declarations ?? []) if (inDist(declaration)) visit(declaration, symbol.name);
}
process.stdout.write(JSON.stringify({ exported, leaks: [...leaks].sort() }));
