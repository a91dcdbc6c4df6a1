# studybot: slim, non-root, runs `studybot run`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot bot
COPY adapters adapters
COPY storage storage
COPY content content
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STUDYBOT_DATABASE_URL=sqlite+aiosqlite:////data/studybot.db \
    STUDYBOT_FILES_DIR=/data/files
COPY --from=build /install /usr/local
RUN useradd --create-home --uid 10001 studybot && mkdir /data && chown studybot /data
USER studybot
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["studybot"]
CMD ["run"]
