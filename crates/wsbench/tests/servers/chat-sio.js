// A Socket.IO chat server with its own conventions: namespace /chat under path /realtime/,
// the event 'chat message', an auth token required, relayed messages wrapped as
// {from, msg}, a 'typing' event alongside that receivers must not count, rooms joined with
// 'enter' and round trips with 'say back'. wsbench's
// tests measure it through a Socket.IO adapter and expect exact accounting.
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.env.PORT);
const httpServer = http.createServer();
const io = new Server(httpServer, { path: '/realtime/', serveClient: false });
const chat = io.of('/chat');

chat.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === 'test-token') next();
  else next(new Error('unauthorized'));
});

chat.on('connection', (socket) => {
  // Rooms: 'enter' joins one, acknowledged; messages then go to the sender's rooms only.
  socket.on('enter', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack({ ok: true });
  });
  socket.on('chat message', (msg) => {
    const rooms = [...socket.rooms].filter((r) => r !== socket.id);
    const to = rooms.length > 0 ? socket.to(rooms) : socket.broadcast;
    to.emit('typing', { from: socket.id });
    to.emit('chat message', { from: socket.id, msg });
  });
  // Round trips: 'say back' answers with an ack wrapping the message.
  socket.on('say back', (msg, ack) => {
    if (typeof ack === 'function') ack({ echoed: msg });
  });
});

httpServer.listen(port, '127.0.0.1', () => console.log(`chat listening on ${port}`));
