import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTable, readJson, readTable } from '../../../core/data/table.js';
import { InputError } from '../../../core/errors.js';

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simkit-table-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SHOPEE = { posting_id: 'string', image: 'string', title: 'string', label_group: 'int' } as const;

async function errorOf(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('readTable', () => {
  it('reads quoted commas, doubled quotes, line breaks, a BOM and Indonesian text as typed rows', async () => {
    const csv =
      '\uFEFFposting_id,image,image_phash,title,label_group\n' +
      'train_129225211,0000a68812bc7e98c42888dfb1c07da0.jpg,94974f937d4c2433,"Paket Lengkap, ""Kulkas"" 2 Pintu",249114794\n' +
      'train_3386243561,00039780dfc94d01db8676fe789ecd05.jpg,af3f9460c2838f0f,"Baju anak\nperempuan – ukuran 0123",2937985045\n' +
      'train_0,0123.jpg,1e5,Sepatu Wanita Murah,0\n';
    await writeFile(path('shopee.csv'), csv);
    const rows = await loadTable(path('shopee.csv'), SHOPEE);
    expect(rows).toEqual([
      {
        posting_id: 'train_129225211',
        image: '0000a68812bc7e98c42888dfb1c07da0.jpg',
        title: 'Paket Lengkap, "Kulkas" 2 Pintu',
        label_group: 249114794,
      },
      {
        posting_id: 'train_3386243561',
        image: '00039780dfc94d01db8676fe789ecd05.jpg',
        title: 'Baju anak\nperempuan – ukuran 0123',
        label_group: 2937985045,
      },
      { posting_id: 'train_0', image: '0123.jpg', title: 'Sepatu Wanita Murah', label_group: 0 },
    ]);
    expect(Object.keys(rows[0]!)).not.toContain('image_phash');
  });

  it('keeps id-like text as strings and treats optional columns as undefined when absent or empty', async () => {
    await writeFile(path('optional.csv'), 'id,landmarks,score\n0123,,\n1e5,12 0.5,0.25\n');
    const rows = await loadTable(path('optional.csv'), {
      id: 'string',
      landmarks: 'string?',
      score: 'float?',
      chain: 'int?',
    });
    expect(rows).toEqual([
      { id: '0123', landmarks: undefined, score: undefined, chain: undefined },
      { id: '1e5', landmarks: '12 0.5', score: 0.25, chain: undefined },
    ]);
  });

  it('names file, line and field for a value of the wrong type, counting lines inside quoted fields', async () => {
    await writeFile(
      path('bad-int.csv'),
      'posting_id,image,title,label_group\na,a.jpg,"two\nlines",1\nb,b.jpg,ok,abc\n',
    );
    const error = await errorOf(loadTable(path('bad-int.csv'), SHOPEE));
    expect(error.file).toBe(path('bad-int.csv'));
    expect(error.line).toBe(4);
    expect(error.field).toBe('label_group');
    expect(error.message).toBe(`${path('bad-int.csv')}:4 (label_group): expected an integer, got 'abc'`);

    await writeFile(path('bad-float.csv'), 'id,score\nx,0.5\ny,\n');
    const floatError = await errorOf(loadTable(path('bad-float.csv'), { id: 'string', score: 'float' }));
    expect(floatError.message).toBe(`${path('bad-float.csv')}:3 (score): expected a number, got ''`);
  });

  it('rejects integers with fractions or beyond the exact range', async () => {
    await writeFile(path('fraction.csv'), 'n\n1.5\n');
    expect((await errorOf(loadTable(path('fraction.csv'), { n: 'int' }))).message).toContain("got '1.5'");
    await writeFile(path('huge.csv'), 'n\n99999999999999999999\n');
    expect((await errorOf(loadTable(path('huge.csv'), { n: 'int' }))).line).toBe(2);
  });

  it('names the file and the header found when a required column is missing', async () => {
    await writeFile(path('header.csv'), 'Image,Id\nx.jpg,w_1\n');
    const error = await errorOf(loadTable(path('header.csv'), { image: 'string', Id: 'string' }));
    expect(error.message).toBe(`${path('header.csv')}:1 (image): missing column 'image'; the header has: Image, Id`);
    await writeFile(path('empty-body.csv'), 'Image,Id\n');
    await expect(loadTable(path('empty-body.csv'), { image: 'string' })).rejects.toThrow(/missing column 'image'/);
  });

  it('reports malformed CSV and missing files as input errors', async () => {
    await writeFile(path('ragged.csv'), 'a,b\n1,2\n3\n');
    const ragged = await errorOf(loadTable(path('ragged.csv'), { a: 'int' }));
    expect(ragged.line).toBe(3);
    await writeFile(path('quote.csv'), 'a,b\n1,"open\n');
    expect((await errorOf(loadTable(path('quote.csv'), { a: 'int' }))).file).toBe(path('quote.csv'));
    expect((await errorOf(loadTable(path('absent.csv'), { a: 'int' }))).message).toBe(
      `${path('absent.csv')}: file not found`,
    );
  });

  it('refuses invalid UTF-8 with the line, and reads Latin-1 on request', async () => {
    const bytes = Buffer.concat([
      Buffer.from('name,family\nRosa,Rosaceae\n'),
      Buffer.from([0x47, 0xe9, 0x72, 0x61, 0x6e, 0x69, 0x75, 0x6d]), // "Géranium" in Latin-1
      Buffer.from(',Geraniaceae\n'),
    ]);
    await writeFile(path('latin1.csv'), bytes);
    const schema = { name: 'string', family: 'string' } as const;
    const error = await errorOf(loadTable(path('latin1.csv'), schema));
    expect(error.line).toBe(3);
    expect(error.message).toContain("encoding 'latin1'");
    expect(await loadTable(path('latin1.csv'), schema, { encoding: 'latin1' })).toEqual([
      { name: 'Rosa', family: 'Rosaceae' },
      { name: 'Géranium', family: 'Geraniaceae' },
    ]);
  });

  it('finds an invalid byte far into a file that spans many read chunks', async () => {
    const good = Array.from({ length: 20_000 }, (_, i) => `row_${i},Überraschung ${i}\n`).join('');
    await writeFile(
      path('long.csv'),
      Buffer.concat([Buffer.from(`id,text\n${good}`), Buffer.from([0x78, 0xff, 0x0a])]),
    );
    const error = await errorOf(loadTable(path('long.csv'), { id: 'string' }));
    expect(error.line).toBe(20_002);
  });

  it('streams rows one at a time', async () => {
    await writeFile(path('stream.csv'), 'n\n1\n2\n3\n');
    const seen: number[] = [];
    for await (const row of readTable(path('stream.csv'), { n: 'int' })) {
      seen.push(row.n);
      if (row.n === 2) break;
    }
    expect(seen).toEqual([1, 2]);
  });
});

describe('readJson', () => {
  it('reads COCO-style metadata as UTF-8 or Latin-1', async () => {
    const metadata = {
      images: [{ id: 1, file_name: 'images/000/00/1.jpg' }],
      categories: [{ id: 0, name: 'Géranium' }],
    };
    await writeFile(path('utf8.json'), '\uFEFF' + JSON.stringify(metadata));
    expect(await readJson(path('utf8.json'))).toEqual(metadata);
    await writeFile(path('latin1.json'), Buffer.from(JSON.stringify(metadata, null, 1), 'latin1'));
    const error = await errorOf(readJson(path('latin1.json')));
    expect(error.line).toBe(
      JSON.stringify(metadata, null, 1)
        .split('\n')
        .findIndex((l) => l.includes('G')) + 1,
    );
    expect(await readJson(path('latin1.json'), { encoding: 'latin1' })).toEqual(metadata);
  });

  it('reports syntax errors with a line', async () => {
    await writeFile(path('broken.json'), '{\n"a": 1,\n"b" 2}\n');
    const error = await errorOf(readJson(path('broken.json')));
    expect(error.line).toBe(3);
    expect(error.message).toContain('is not valid JSON');
  });
});
