const P = require('@polyglot-sql/sdk');
(async () => { await P.init();
const strip = (n) => { if (Array.isArray(n)) return n.map(strip); if (n && typeof n === 'object') { const o = {}; for (const [k, v] of Object.entries(n)) { if (v === null || (Array.isArray(v) && v.length === 0) || v === false || k === 'trailing_comments' || k==='comments' || k==='span' || k==='quoted') continue; o[k] = strip(v); } return o; } return n; };
for (const sql of process.argv.slice(2)) { const r = P.parse(sql, P.Dialect.SQLite); console.log(JSON.stringify(strip(r.ast))); }
})();
