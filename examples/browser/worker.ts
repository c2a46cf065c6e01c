/**
 * The browser example's Worker: runs the job (`demo-job.ts`) off the page's thread and posts
 * every event to the page as it happens, so the page can draw the progress of a call while the
 * call runs. This is the Worker recipe of the README in full.
 */
import { type DemoOptions, runDemo } from './demo-job.js';

addEventListener('message', (event: MessageEvent<DemoOptions>) => {
  void runDemo(event.data, (report) => postMessage(report));
});
