// Writes core/cli/option-docs.json: the doc comment of every option of the built-in components
// ('' where there is none), read from their option types (interfaces and type aliases named
// *Options or *Config in core/, plugins/ and competitions/), and which option type each registration declares
// (`const x: Registration<T, XOptions> = { name: 'x', … }`). `simkit list <kind> <name>` shows them.
// Run by `make option-docs`; `--check` (test/core/cli/component-options.test.ts) fails when the file is stale.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OPTION_DOCS_FILE = join(ROOT, 'core', 'cli', 'option-docs.json');

const oneLine = (text) => text.replace(/\s+/g, ' ').trim();

/** { types: { TypeName: { option: doc } }, registrations: { name: [TypeName, …] } }, sorted. */
export function optionDocs() {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const checker = program.getTypeChecker();
  const types = {};
  const registrations = {};
  const visit = (node) => {
    if (
      (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) &&
      /(Options|Config)$/.test(node.name.text)
    ) {
      const docs = {};
      for (const property of checker.getPropertiesOfType(checker.getTypeAtLocation(node.name))) {
        docs[property.name] = oneLine(ts.displayPartsToString(property.getDocumentationComment(checker)));
      }
      if (Object.values(docs).some(Boolean)) types[node.name.text] = { ...types[node.name.text], ...docs };
    }
    if (
      ts.isVariableDeclaration(node) &&
      node.type &&
      ts.isTypeReferenceNode(node.type) &&
      node.type.typeName.getText() === 'Registration' &&
      node.type.typeArguments?.[1] &&
      node.initializer &&
      ts.isObjectLiteralExpression(node.initializer)
    ) {
      const name = node.initializer.properties.find(
        (p) => ts.isPropertyAssignment(p) && p.name.getText() === 'name' && ts.isStringLiteral(p.initializer),
      );
      const type = node.type.typeArguments[1].getText();
      if (name)
        registrations[name.initializer.text] = [...new Set([...(registrations[name.initializer.text] ?? []), type])];
    }
    ts.forEachChild(node, visit);
  };
  for (const file of program.getSourceFiles()) {
    if (/^(core|plugins|competitions)\//.test(relative(ROOT, file.fileName))) visit(file);
  }
  const sorted = (object) => Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    types: sorted(Object.fromEntries(Object.entries(types).map(([name, docs]) => [name, sorted(docs)]))),
    registrations: sorted(registrations),
  };
}

/** The file's text, laid out as the project's Prettier config says (make lint checks it). */
export async function optionDocsText() {
  const options = await prettier.resolveConfig(OPTION_DOCS_FILE);
  return prettier.format(JSON.stringify(optionDocs()), { ...options, filepath: OPTION_DOCS_FILE });
}

// `--check`: exit 1, writing nothing, when the file is not what the sources say.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await optionDocsText();
  const file = relative(ROOT, OPTION_DOCS_FILE);
  if (process.argv.includes('--check')) {
    const current = existsSync(OPTION_DOCS_FILE) ? readFileSync(OPTION_DOCS_FILE, 'utf8') : '';
    if (current !== text) {
      console.error(`${file} is out of date with the option types' doc comments: run \`make option-docs\``);
      process.exit(1);
    }
  } else {
    writeFileSync(OPTION_DOCS_FILE, text);
    console.log(`wrote ${file}`);
  }
}
