import './base.css';
import './health.css';
import './history.css';
import './runs.css';
import './details.css';
import './compare.css';
import './models.css';
