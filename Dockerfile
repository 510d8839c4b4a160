# CPU image of hwnas with pinned dependencies (docker/constraints.txt, generated from the
# project's venv). Build and run (README, "Docker"):
#   docker build -t hwnas .
#   docker run --rm -v "$PWD/runs:/work/runs" hwnas pareto --device jetson-tx2 --energy 20mJ
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /opt/hwnas
COPY docker/constraints.txt ./constraints.txt
# The CPU build of torch first, from PyTorch's CPU index (PyPI's Linux wheel pulls several GB of
# CUDA packages); its own dependencies come from PyPI, pinned by the constraints.
RUN pip install torch==2.13.0+cpu -c constraints.txt \
        --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
COPY pyproject.toml README.md ./
COPY hwnas ./hwnas
COPY predictors ./predictors
COPY devices ./devices
COPY search ./search
RUN pip install -c constraints.txt . && hwnas --help > /dev/null

# Outputs go to /work/runs (the default --out is runs/pareto-DEVICE): mount a folder there.
WORKDIR /work
ENTRYPOINT ["hwnas"]
CMD ["--help"]
