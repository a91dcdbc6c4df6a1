"""Operations: health, readiness and Prometheus metrics over HTTP (STUDYBOT_HTTP_PORT)."""
