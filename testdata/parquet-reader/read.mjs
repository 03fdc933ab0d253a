// Reads a Parquet file with hyparquet (an independent, pure-JS reader) and
// prints its rows as JSON Lines. 64-bit integers come back as BigInt; they
// are printed as JSON numbers with all their digits.
// Usage: node read.mjs FILE.parquet
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'

const path = process.argv[2]
if (!path) {
  console.error('usage: node read.mjs FILE.parquet')
  process.exit(2)
}
const file = await asyncBufferFromFile(path)
const meta = await parquetMetadataAsync(file)
const rows = await parquetReadObjects({ file })
if (rows.length !== Number(meta.num_rows)) {
  console.error(`read ${rows.length} rows, the footer says ${meta.num_rows}`)
  process.exit(1)
}
const big = (_, v) => (typeof v === 'bigint' ? `\u0000BIG${v}` : v)
for (const row of rows) {
  process.stdout.write(JSON.stringify(row, big).replace(/"\\u0000BIG(-?\d+)"/g, '$1') + '\n')
}
