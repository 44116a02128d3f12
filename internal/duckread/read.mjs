// read.mjs: read Parquet files with DuckDB and print their rows as JSON lines,
// every value in a text form that loses nothing, for chload's tests (see
// duckread.go beside this file, which runs it).
//
// Usage: node read.mjs FILE...
//
// For each file, in order, it prints one header line
//   {"file": PATH, "columns": [{"name": NAME, "type": DUCKDB_TYPE}, ...], "rows": N}
// followed by N lines, each a JSON array with one value per column, rows in
// the file's order. A file DuckDB cannot read gets the header
//   {"file": PATH, "error": MESSAGE, "columns": [], "rows": 0}
// and the next file is read. Values:
//   NULL                  null
//   BOOLEAN               true / false
//   integers of any width decimal text ("-9223372036854775808")
//   FLOAT, DOUBLE         shortest text that parses back to the same value
//                         ("0.1", "-0", "NaN", "Infinity", "-Infinity"); a FLOAT
//                         is printed as the double it widens to, exactly
//   DECIMAL(p,s)          exact decimal text with s fraction digits ("-12.3400")
//   VARCHAR               the string
//   BLOB                  lowercase hex of the bytes
//   DATE                  days since 1970-01-01 as decimal text
//   TIMESTAMP*            the stored integer since the epoch as decimal text, in
//                         the type's own unit (TIMESTAMP_S seconds, TIMESTAMP_MS
//                         milliseconds, TIMESTAMP and TIMESTAMP WITH TIME ZONE
//                         microseconds, TIMESTAMP_NS nanoseconds)
//   LIST, ARRAY           JSON array of the element values
//   STRUCT                JSON object of the field values
//   MAP                   JSON array of [key, value] pairs
//   anything else         DuckDB's own text for the value
// Exit status 0 when every file was read or refused as above; otherwise (no
// DuckDB, bad arguments) a message on stderr and 1.
import {
  DuckDBInstance,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
} from '@duckdb/node-api';

function decimalText(v) {
  let digits = (v.value < 0n ? -v.value : v.value).toString();
  const sign = v.value < 0n ? '-' : '';
  if (v.scale === 0) return sign + digits;
  digits = digits.padStart(v.scale + 1, '0');
  return sign + digits.slice(0, digits.length - v.scale) + '.' + digits.slice(digits.length - v.scale);
}

function text(v) {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'bigint':
      return v.toString();
    case 'number':
      // String() gives the shortest round-trip text; it drops the sign of -0.
      return Object.is(v, -0) ? '-0' : String(v);
  }
  if (v instanceof DuckDBDecimalValue) return decimalText(v);
  if (v instanceof DuckDBBlobValue) return Buffer.from(v.bytes).toString('hex');
  if (v instanceof DuckDBDateValue) return String(v.days);
  if (v instanceof DuckDBTimestampSecondsValue) return v.seconds.toString();
  if (v instanceof DuckDBTimestampMillisecondsValue) return v.millis.toString();
  if (v instanceof DuckDBTimestampNanosecondsValue) return v.nanos.toString();
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) return v.micros.toString();
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(text);
  if (v instanceof DuckDBStructValue) {
    const o = {};
    for (const [k, x] of Object.entries(v.entries)) o[k] = text(x);
    return o;
  }
  if (v instanceof DuckDBMapValue) return v.entries.map((e) => [text(e.key), text(e.value)]);
  return v.toString();
}

function sqlString(s) {
  return "'" + s.replaceAll("'", "''") + "'";
}

async function main(files) {
  if (files.length === 0) throw new Error('usage: node read.mjs FILE...');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  const out = [];
  const flush = () => {
    if (out.length > 0) {
      process.stdout.write(out.join('\n') + '\n');
      out.length = 0;
    }
  };
  for (const file of files) {
    let reader;
    try {
      reader = await conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(file)})`);
    } catch (e) {
      out.push(JSON.stringify({ file, error: e.message, columns: [], rows: 0 }));
      flush();
      continue;
    }
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const rows = reader.getRows();
    out.push(JSON.stringify({ file, columns: names.map((n, i) => ({ name: n, type: types[i].toString() })), rows: rows.length }));
    for (const row of rows) {
      out.push(JSON.stringify(row.map(text)));
      if (out.length >= 4096) flush();
    }
    flush();
  }
  conn.closeSync();
  instance.closeSync();
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`duckread: ${e.message}\n`);
  process.exitCode = 1;
});
