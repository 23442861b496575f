// Echo server on Node's `ws` package. Prints 'LISTENING <port>' once bound.
// Usage: node echo.js [PORT] [--deflate]   (0 or none: any free port on 127.0.0.1)
// --deflate turns on the perMessageDeflate option (ws's defaults: messages under 1 KiB
// go out uncompressed).
'use strict';
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const deflate = args.includes('--deflate');
const port = Number(args.filter((a) => a !== '--deflate')[0] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
wss.on('listening', () => {
  process.stdout.write(`LISTENING ${wss.address().port}\n`);
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
});
