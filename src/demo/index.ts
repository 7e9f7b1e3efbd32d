export { runDemo } from './run.js';
export { DemoError, DEMO_USAGE } from './options.js';
