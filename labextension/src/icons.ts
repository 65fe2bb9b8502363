import { LabIcon } from '@jupyterlab/ui-components';

/** A rising line over axes; `jp-icon3` lets themes colour it. */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h2v16h16v2H3z"/>
    <path d="M7 15.6l4.2-5.3 3.3 2.7 4.7-6.2 1.6 1.2-5.9 7.8-3.3-2.7-3 3.8z"/>
  </g>
</svg>`;

/** The MLOps panel's icon (its sidebar tab). */
export const mlopsIcon = new LabIcon({ name: 'jupyter-mlops:icon', svgstr });
