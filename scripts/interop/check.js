// Independent check: the official socket.io-client and the ws package against wsbench serve.
const { io } = require("socket.io-client");
const WebSocket = require("ws");
const [sioUrl, wsUrl] = process.argv.slice(2);
const fail = (m) => { console.error("FAIL", m); process.exit(1); };
const timeout = setTimeout(() => fail("timeout"), 15000);

function connect(transports) {
  return new Promise((res) => { const s = io(sioUrl, { transports, forceNew: true }); s.on("connect", () => res(s)); });
}
async function sio(transports) {
  const [a, b, c] = await Promise.all([connect(transports), connect(transports), connect(transports)]);
  // broadcast: others get it, sender does not
  const got = [];
  b.on("broadcast", (x) => got.push(["b", x]));
  c.on("broadcast", (x) => got.push(["c", x]));
  a.on("broadcast", (x) => fail("sender got its own broadcast"));
  a.emit("broadcast", { hello: transports[0] }, Buffer.from([1, 2, 3]));
  await new Promise((r) => { const t = setInterval(() => { if (got.length === 2) { clearInterval(t); r(); } }, 10); });
  for (const [, x] of got) if (x.hello !== transports[0]) fail("payload changed");
  // ack
  const echoed = await a.timeout(5000).emitWithAck("echo", "ping?", 42);
  if (echoed !== "ping?") fail("ack data " + JSON.stringify(echoed));
  // rooms
  const joined = await b.timeout(5000).emitWithAck("join", "room1");
  await c.timeout(5000).emitWithAck("join", "room1");
  if (joined !== "room1") fail("join ack");
  let leaked = false;
  a.on("broadcast", () => { leaked = true; });
  const inRoom = new Promise((r) => c.once("broadcast", r));
  b.emit("broadcast", "room only");
  if ((await inRoom) !== "room only") fail("room message");
  // a marker from the lobby: a (in lobby) must not have seen the room message
  if (leaked) fail("room message leaked to the lobby");
  console.log("socket.io", transports.join(","), "ok: broadcast, binary arg, ack, rooms");
  a.close(); b.close(); c.close();
}
async function raw() {
  const open = (p) => new Promise((r) => { const w = new WebSocket(wsUrl + p); w.on("open", () => r(w)); });
  const [a, b] = [await open("/"), await open("/")];
  const echo = await open("/echo");
  const got = new Promise((r) => b.once("message", (m, bin) => r([m.toString(), bin])));
  a.send("hi");
  const [m] = await got;
  if (m !== "hi") fail("ws broadcast");
  const back = new Promise((r) => echo.once("message", (m, bin) => r([Buffer.from(m), bin])));
  echo.send(Buffer.from([9, 8, 7]));
  const [e, bin] = await back;
  if (!bin || e.length !== 3) fail("ws binary echo");
  console.log("raw ws ok: broadcast, binary echo");
  a.close(); b.close(); echo.close();
}
(async () => { await sio(["websocket"]); await sio(["polling"]); await raw(); clearTimeout(timeout); process.exit(0); })();
