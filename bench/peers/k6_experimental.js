// k6's experimental WebSocket API (k6/experimental/websockets, event loop per VU): one VU
// per session, same tests as k6_legacy.js.
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout } from 'k6/timers';
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
  const socket = new WebSocket(URL);
  let left = MESSAGES;
  socket.onopen = () => socket.send(MSG);
  socket.onmessage = () => {
    left -= 1;
    if (TEST === 'idle') {
      if (left === MESSAGES - 1) {
        setTimeout(() => socket.close(), HOLD * 1000);
      }
    } else if (left > 0) {
      socket.send(MSG);
    } else {
      socket.close();
    }
  };
}
