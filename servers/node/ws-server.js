// The seed's server.js ("WebSocket or Socket.io in Node.js"), kept as written but for where
// it listens: on 127.0.0.1 (wsbench sends load only to loopback), on the port wsbench picks
// (PORT) where the seed hard-codes 8080, over TLS (wss://) when TLS_CERT and TLS_KEY
// name a PEM certificate and key, as a deployment behind https serves it, and with the
// `ws` package's permessage-deflate (`perMessageDeflate: true`, its defaults: messages of
// 1 KiB and more compressed) when COMPRESSION=1. QUIET=1 leaves out the seed's log line per
// message received (`node-ws-quiet`: logging every message is what sinks this server first,
// and no production server does it); the seed's as written logs it.
const WebSocket = require('ws');
const port = Number(process.env.PORT) || 8080;
const perMessageDeflate = process.env.COMPRESSION === '1';
const quiet = process.env.QUIET === '1';
const tls = process.env.TLS_CERT && process.env.TLS_KEY
  ? require('https').createServer({
    cert: require('fs').readFileSync(process.env.TLS_CERT),
    key: require('fs').readFileSync(process.env.TLS_KEY),
  })
  : null;
const wss = tls
  ? new WebSocket.Server({ server: tls.listen(port, '127.0.0.1'), perMessageDeflate })
  : new WebSocket.Server({ host: '127.0.0.1', port, perMessageDeflate });

wss.on('connection', ws => {
  console.log('Client connected');

  ws.on('message', message => {
    if (!quiet) console.log(`Received message: ${message}`);
    // Broadcast the message to all connected clients
    wss.clients.forEach(client => {
      if (client !== ws && client.readyState === WebSocket.OPEN) {
        client.send(message.toString());
      }
    });
  });

  ws.on('close', () => {
    console.log('Client disconnected');
  });

  ws.on('error', error => {
    console.error('WebSocket error:', error);
  });

  ws.send('Welcome to the WebSocket server!');
});

console.log(`WebSocket server listening on port ${port}${tls ? ' (TLS)' : ''}${perMessageDeflate ? ' (permessage-deflate)' : ''}`);
