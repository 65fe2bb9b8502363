// JupyterLab's own jest setup (jsdom, ts-jest, CSS and SVG mocks), with its ES
// module packages transformed too and the console reporter only.
const jupyterlabConfig = require('@jupyterlab/testing/lib/jest-config');

const esModules = [
  '@codemirror',
  '@jupyter',
  '@jupyterlab',
  '@lumino',
  '@marijn',
  '@microsoft',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const base = jupyterlabConfig(__dirname);

module.exports = {
  ...base,
  reporters: ['default'],
  testRegex: 'test/.*\\.spec\\.tsx?$',
  transformIgnorePatterns: [`/node_modules/(?!(${esModules})).+`]
};
