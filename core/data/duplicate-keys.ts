import { parseDocument } from 'yaml';
import { InputError } from '../errors.js';

/**
 * Refuses a JSON text that names a key twice in one object (JSON.parse keeps the last silently;
 * YAML configs refuse it, and so do JSON ones). JSON is YAML, so YAML's parser finds the repeat and its line.
 */
export function refuseDuplicateKeys(file: string, text: string): void {
  const repeated = parseDocument(text).errors.find((error) => error.code === 'DUPLICATE_KEY');
  if (!repeated) return;
  throw new InputError(
    file,
    repeated.linePos?.[0]?.line,
    undefined,
    'a key appears twice in one object (only one of its values would count): give each key once',
  );
}
