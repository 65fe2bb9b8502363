import './base.css';
import './health.css';
import './history.css';
import './models.css';
