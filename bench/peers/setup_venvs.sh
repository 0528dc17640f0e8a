#!/usr/bin/env bash
# Create one virtual environment per peer of the race (bench/peers/README.md). Not run in CI.
#
#   bash bench/peers/setup_venvs.sh [PEER ...]      # default: nnunet monai fastmonai mipcandy
#
# Venvs go to $PEER_VENVS (default /work/peer_venvs), outside the repository: never commit them.
# Sizes on disk (about 21 GB in all): monai 1 GB (torch 2.13.0 CPU build); nnunet 6.4 GB, fastmonai 7.6 GB,
# mipcandy 5.9 GB (torch 2.14.1 with torchvision 0.29.1: CUDA builds, which run on the CPU). nnU-Net needs
# torchvision through dynamic-network-architectures -> timm, and torchvision 0.29 needs torch >= 2.14.
# medseg itself needs no venv here: the race runs it with the interpreter of race.py (the project's venv).
set -euo pipefail

VENVS=${PEER_VENVS:-/work/peer_venvs}
PYENV_ROOT=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
PY311=${PY311:-$PYENV_ROOT/versions/3.11.7/bin/python}
PY312=${PY312:-$PYENV_ROOT/versions/3.12.1/bin/python}   # MIP Candy needs Python >= 3.12

make_venv() {  # make_venv NAME PYTHON PACKAGE...
    local name=$1 python=$2; shift 2
    local venv=$VENVS/$name
    if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c "import sys; sys.exit(0)"; then
        echo "== $name: $venv exists; installing into it (pip skips what is there)"
    else
        echo "== $name: creating $venv with $("$python" --version)"
        "$python" -m venv "$venv"
    fi
    "$venv/bin/pip" install --upgrade --quiet pip
    # torch first, pinned, so that later requirements never pull another torch build
    # shellcheck disable=SC2086  # $1 may name torch and torchvision together
    "$venv/bin/pip" install --quiet $1
    shift
    "$venv/bin/pip" install --quiet "$@"
    "$venv/bin/pip" freeze > "$venv/requirements-frozen.txt"
    echo "== $name: ready ($(du -sh "$venv" | cut -f1))"
}

peers=("$@")
[[ ${#peers[@]} -eq 0 ]] && peers=(nnunet monai fastmonai mipcandy)
df -h "$(dirname "$VENVS")" | tail -1
mkdir -p "$VENVS"
for peer in "${peers[@]}"; do
    case $peer in
        nnunet)    make_venv nnunet "$PY311" "torch==2.14.1 torchvision==0.29.1" nnunetv2==2.8.1 ;;
        monai)     make_venv monai "$PY311" torch==2.13.0 monai==1.6.1 nibabel tqdm ;;
        fastmonai) make_venv fastmonai "$PY311" "torch==2.14.1 torchvision==0.29.1" fastmonai==0.12.0 ;;
        mipcandy)  make_venv mipcandy "$PY312" "torch==2.14.1 torchvision==0.29.1" mipcandy==1.1.3 mipcandy-bundles==0.1.0 ;;
        *) echo "unknown peer '$peer'; valid: nnunet monai fastmonai mipcandy" >&2; exit 2 ;;
    esac
done
