import './base.css';
import './health.css';
