# CPU image of hwnas, installed the same way as README's setup command.
FROM python:3.11-slim

WORKDIR /opt/hwnas
# CPU-only torch first, from PyTorch's CPU index (the default index would pull CUDA wheels).
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY hwnas ./hwnas
COPY predictors ./predictors
COPY devices ./devices
COPY search ./search
RUN pip install --no-cache-dir .

WORKDIR /work
ENTRYPOINT ["hwnas"]
CMD ["--help"]
