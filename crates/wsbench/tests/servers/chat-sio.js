// A Socket.IO chat server with its own conventions: namespace /chat under path /realtime/,
// the event 'chat message', an auth token required, relayed messages wrapped as
// {from, msg}, and a 'typing' event alongside that receivers must not count. wsbench's
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
  socket.on('chat message', (msg) => {
    socket.broadcast.emit('typing', { from: socket.id });
    socket.broadcast.emit('chat message', { from: socket.id, msg });
  });
});

httpServer.listen(port, '127.0.0.1', () => console.log(`chat listening on ${port}`));
