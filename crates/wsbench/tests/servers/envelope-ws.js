// A chat server written the way many are, not the way wsbench's are: JSON messages, a
// subprotocol and a bearer token required, a subscribe message (to a room) before anything
// is received, and every relayed message wrapped as {"from":ID,"msg":ORIGINAL}. wsbench's tests
// measure it through a raw WebSocket adapter and expect exact accounting.
const { WebSocketServer } = require('ws');

const port = Number(process.env.PORT);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  handleProtocols: (protocols) => (protocols.has('chat.v1') ? 'chat.v1' : false),
  verifyClient: (info) =>
    info.req.headers.authorization === 'Bearer test-token' &&
    (info.req.headers['sec-websocket-protocol'] || '').split(/, */).includes('chat.v1'),
});

let nextId = 1;
wss.on('connection', (ws) => {
  ws.id = nextId++;
  ws.room = null;
  ws.send(JSON.stringify({ type: 'welcome', id: ws.id }));
  ws.on('message', (data) => {
    const text = data.toString();
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      ws.send(JSON.stringify({ type: 'error', reason: 'not JSON' }));
      return;
    }
    if (m.type === 'subscribe') {
      ws.room = m.room;
      ws.send(JSON.stringify({ type: 'subscribed', room: m.room }));
    } else if (m.type === 'chat') {
      // To the room the message names, else to the sender's own subscription.
      const room = m.room || ws.room;
      const out = JSON.stringify({ from: ws.id, msg: text });
      for (const c of wss.clients) {
        if (c !== ws && c.readyState === 1 && c.room === room) c.send(out);
      }
    }
  });
});

wss.on('listening', () => console.log(`envelope chat listening on ${port}`));
