'use strict';
// A scripted WebSocket peer built on the ws package, for the duplex interop
// tests. It echoes every data message with its type and obeys command
// messages (text starting with "!" followed by JSON); it reports what it sees
// as JSON lines on stdout: {"id", "event", ...}.
//
//   node peer.js server PORT [CERT KEY]   listen on 127.0.0.1:PORT (0: any),
//                                         print {"event":"listening","port":N}
//   node peer.js client URL ID [PROTOS]   connect, offering the comma-separated
//                                         subprotocols; exit after the close
//   node peer.js oversize LIMIT SIZE URL...
//                                         for each URL in turn: send LIMIT
//                                         bytes of text, wait for their echo,
//                                         send SIZE bytes of text, and report
//                                         the close event: code, reason and
//                                         "clean" (its wasClean)
//
// A server picks the first of its subprotocols ("duplex.v2", "duplex.v1")
// the client offers, and refuses requests for /refuse with 403; the
// connection id comes from the URL's "id" parameter.
//
// DUPLEX_PEER_DEFLATE sets permessage-deflate (RFC 7692): "off" (the
// default), "on" (ws's defaults, every message compressed), or "small" (no
// context takeover either way, server_max_window_bits=10,
// client_max_window_bits=9). The "open" report carries the
// Sec-WebSocket-Extensions value of the handshake's response.
const fs = require('fs');
const https = require('https');
const { WebSocket, WebSocketServer } = require('ws');

const serverProtocols = ['duplex.v2', 'duplex.v1'];

function deflateOptions() {
  switch (process.env.DUPLEX_PEER_DEFLATE || 'off') {
    case 'off':
      return false;
    case 'on':
      // threshold 0: small messages are compressed too.
      return { threshold: 0 };
    case 'small':
      return {
        threshold: 0,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 9,
      };
    case 'w8':
      return { threshold: 0, serverMaxWindowBits: 8, clientMaxWindowBits: 8 };
    default:
      process.stderr.write('DUPLEX_PEER_DEFLATE must be off, on, small or w8\n');
      process.exit(2);
  }
}

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function drive(ws, id, extensions) {
  report({ id, event: 'open', protocol: ws.protocol, extensions });
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length > 0 && data[0] === 0x21) {
      command(ws, id, JSON.parse(data.subarray(1).toString('utf8')));
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('pong', (data) => {
    report({ id, event: 'pong', data: data.toString('utf8') });
    ws.send('pong ' + data.toString('utf8'));
  });
  ws.on('close', (code, reason) => {
    report({ id, event: 'close', code, reason: reason.toString('utf8') });
  });
  ws.on('error', (err) => report({ id, event: 'error', message: String(err) }));
}

function command(ws, id, cmd) {
  switch (cmd.cmd) {
    case 'ping':
      ws.ping(cmd.data);
      break;
    case 'fragment':
      cmd.parts.forEach((part, i) => ws.send(part, { binary: false, fin: i === cmd.parts.length - 1 }));
      break;
    case 'close':
      ws.close(cmd.code, cmd.reason);
      break;
    case 'zeros':
      ws.send(Buffer.alloc(cmd.size));
      break;
    default:
      report({ id, event: 'error', message: 'unknown command ' + cmd.cmd });
  }
}

function server(port, cert, key) {
  const opts = {
    perMessageDeflate: deflateOptions(),
    handleProtocols: (offered) => serverProtocols.find((p) => offered.has(p)) || false,
    verifyClient: (info, done) =>
      info.req.url.startsWith('/refuse') ? done(false, 403, 'Forbidden') : done(true),
  };
  let http;
  if (cert) {
    http = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
    opts.server = http;
  } else {
    opts.port = port;
    opts.host = '127.0.0.1';
  }
  const wss = new WebSocketServer(opts);
  const extensions = new WeakMap();
  wss.on('headers', (headers, req) => {
    const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h)) || '';
    extensions.set(req, line.replace(/^[^:]*:\s*/, ''));
  });
  wss.on('connection', (ws, req) => {
    const id = new URL(req.url, 'http://x').searchParams.get('id') || '';
    drive(ws, id, extensions.get(req) || '');
  });
  const listening = (addr) => report({ event: 'listening', port: addr.port });
  if (http) {
    http.listen(port, '127.0.0.1', () => listening(http.address()));
  } else {
    wss.on('listening', () => listening(wss.address()));
  }
}

function client(url, id, protos) {
  const offered = protos ? protos.split(',') : [];
  const ws = new WebSocket(url, offered, { perMessageDeflate: deflateOptions() });
  const failed = (err) => report({ id, event: 'error', message: String(err) });
  let extensions = '';
  ws.on('upgrade', (res) => {
    extensions = res.headers['sec-websocket-extensions'] || '';
  });
  ws.on('open', () => {
    ws.removeListener('error', failed);
    drive(ws, id, extensions);
  });
  ws.on('unexpected-response', (req, res) => {
    report({ id, event: 'error', message: 'handshake refused: HTTP ' + res.statusCode });
    process.exit(1);
  });
  ws.on('error', failed);
  ws.on('close', () => setImmediate(() => process.exit(0)));
}

// oversize opens the URLs one after another, without compression, each
// sending a message that fits the server's limit and then one over it. ws
// sets wasClean when a close frame was both received and sent; without the
// server's close frame it reports code 1006.
function oversize(limit, size, urls) {
  const fits = 'a'.repeat(limit);
  const over = 'b'.repeat(size);
  const run = (i) => {
    if (i === urls.length) {
      return;
    }
    const id = new URL(urls[i]).searchParams.get('id') || '';
    const ws = new WebSocket(urls[i], { perMessageDeflate: false });
    ws.addEventListener('open', () => ws.send(fits));
    ws.addEventListener('message', (e) => {
      if (e.data !== fits) {
        report({ id, event: 'error', message: 'echo of the message that fits differs' });
      }
      ws.send(over);
    });
    ws.addEventListener('error', (e) => report({ id, event: 'error', message: String(e.message) }));
    ws.addEventListener('close', (e) => {
      report({ id, event: 'close', code: e.code, reason: e.reason, clean: e.wasClean });
      run(i + 1);
    });
  };
  run(0);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') {
  server(Number(args[0]), args[1], args[2]);
} else if (mode === 'client') {
  client(args[0], args[1], args[2]);
} else if (mode === 'oversize' && args.length >= 3) {
  oversize(Number(args[0]), Number(args[1]), args.slice(2));
} else {
  process.stderr.write('usage: peer.js server PORT [CERT KEY] | client URL ID [PROTOS] | oversize LIMIT SIZE URL...\n');
  process.exit(2);
}
