// The Socket.IO 4 counterpart of the seed's server, doing the jobs wsbench's own Socket.IO
// server does, so the four systems are compared job for job:
// - `broadcast` (or `message`): relayed, under the same name and with the same arguments,
//   to every other client of the sender's room; every client starts in the lobby, so this
//   is the seed's broadcast to all other clients;
// - `join` with a room name: the client moves to that room; the ack answers with the name;
// - `echo`: answered with an ack carrying the same arguments (or an `echo` event).
// It listens on 127.0.0.1 and on the port wsbench picks (PORT), over TLS (https://) when
// TLS_CERT and TLS_KEY name a PEM certificate and key, with permessage-deflate on its
// WebSocket transport (`perMessageDeflate: true`: engine.io's defaults, messages of 1 KiB
// and more compressed) when COMPRESSION=1, and prints one line when it listens.
const fs = require('fs');
const { Server } = require('socket.io');

const port = Number(process.env.PORT) || 3000;
const LOBBY = 'wsbench:lobby';
const tls = Boolean(process.env.TLS_CERT && process.env.TLS_KEY);
const httpServer = tls
  ? require('https').createServer({
    cert: fs.readFileSync(process.env.TLS_CERT),
    key: fs.readFileSync(process.env.TLS_KEY),
  })
  : require('http').createServer();
const perMessageDeflate = process.env.COMPRESSION === '1';
const io = new Server(httpServer, { perMessageDeflate });

io.on('connection', socket => {
  let room = LOBBY;
  socket.join(room);
  for (const event of ['broadcast', 'message']) {
    socket.on(event, (...args) => {
      socket.to(room).emit(event, ...args);
    });
  }
  socket.on('join', (name, ack) => {
    socket.leave(room);
    room = String(name);
    socket.join(room);
    if (typeof ack === 'function') ack(name);
  });
  socket.on('echo', (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    if (ack) ack(...args);
    else socket.emit('echo', ...args);
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  const extras = `${tls ? ' (TLS)' : ''}${perMessageDeflate ? ' (permessage-deflate)' : ''}`;
  console.log(`Socket.IO server listening on 127.0.0.1:${port}${extras}`);
});
