# wsbench: the load generator and the echo pod in one small image (non-root, the compiled hot
# path built in). The install steps are scripts/image-install, which tests/k8s/test_image.py
# also runs in a clean directory. Build: docker build -t wsbench:0.1.0 .
FROM python:3.11-slim-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN scripts/image-install /src /opt/wsbench

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin wsbench
COPY --from=build /opt/wsbench /opt/wsbench
ENV PATH=/opt/wsbench/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
USER 10001:10001
WORKDIR /tmp
# 8080: wsbench serve (the echo pod); 9100: wsbench run --metrics-port
EXPOSE 8080 9100
ENTRYPOINT ["wsbench"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
