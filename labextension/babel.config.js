// jest transforms JupyterLab's ES modules in node_modules with babel (see jest.config.js)
module.exports = require('@jupyterlab/testing/lib/babel-config').default;
