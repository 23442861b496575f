// Echo server on Node's `ws` package. Prints 'LISTENING <port>' once bound.
// Usage: node echo.js [PORT]   (0 or none: any free port on 127.0.0.1)
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
wss.on('listening', () => {
  process.stdout.write(`LISTENING ${wss.address().port}\n`);
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
});
