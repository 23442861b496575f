// k6's legacy WebSocket API (k6/ws): one VU per session, driven by bench/peers/run_peers.py.
// TEST=rtt: open, MESSAGES round trips closed loop, close. TEST=idle: VU i opens at
// (i-1)/RAMP s, one echo, holds HOLD s after it, closes.
import ws from 'k6/ws';
import { sleep } from 'k6';

const URL = __ENV.URL;
const TEST = __ENV.TEST;
const SESSIONS = parseInt(__ENV.SESSIONS, 10);
const MESSAGES = parseInt(__ENV.MESSAGES || '1', 10);
const RAMP = parseFloat(__ENV.RAMP || '0');
const HOLD = parseFloat(__ENV.HOLD || '0');
const MSG = '0123456789abcdef0123456789abcdef';

export const options = {
  scenarios: {
    peer: { executor: 'per-vu-iterations', vus: SESSIONS, iterations: 1, maxDuration: __ENV.MAX_DURATION || '10m' },
  },
};

export default function () {
  if (TEST === 'idle' && RAMP > 0) {
    sleep((__VU - 1) / RAMP);
  }
  ws.connect(URL, null, function (socket) {
    let left = MESSAGES;
    socket.on('open', function () { socket.send(MSG); });
    socket.on('message', function () {
      left -= 1;
      if (TEST === 'idle') {
        if (left === MESSAGES - 1) {
          socket.setTimeout(function () { socket.close(); }, HOLD * 1000);
        }
      } else if (left > 0) {
        socket.send(MSG);
      } else {
        socket.close();
      }
    });
  });
}
