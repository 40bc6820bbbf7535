// The seed's server.js ("WebSocket or Socket.io in Node.js"), kept as written but for two
// lines: it listens on 127.0.0.1 (wsbench sends load only to loopback) and on the port
// wsbench picks (PORT), where the seed hard-codes 8080.
const WebSocket = require('ws');
const wss = new WebSocket.Server({ host: '127.0.0.1', port: Number(process.env.PORT) || 8080 });

wss.on('connection', ws => {
  console.log('Client connected');

  ws.on('message', message => {
    console.log(`Received message: ${message}`);
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

console.log(`WebSocket server listening on port ${Number(process.env.PORT) || 8080}`);
