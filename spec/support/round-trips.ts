/**
 * Test helper: proof that a thread stays free while work runs elsewhere. Message round trips
 * through a `MessageChannel`, back to back, counted until stopped: a thread blocked by the work
 * makes none meanwhile. Used in Node.js (`spec/transform-thread.test.ts`) and in the browser
 * suite (`spec/browser/suite.ts`), so it uses nothing but the web platform.
 */

/** Starts counting message round trips through a MessageChannel, back to back, until stopped. */
export function roundTrips(): { count(): number; stop(): void } {
  const channel = new MessageChannel();
  let count = 0;
  let running = true;
  channel.port2.onmessage = () => channel.port2.postMessage(null);
  channel.port1.onmessage = () => {
    count++;
    if (running) channel.port1.postMessage(null);
  };
  channel.port1.postMessage(null);
  return {
    count: () => count,
    stop: () => {
      running = false;
      channel.port1.close();
      channel.port2.close();
    },
  };
}
