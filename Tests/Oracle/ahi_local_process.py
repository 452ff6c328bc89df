"""Starts `ahi-local` as a process for the scenario scripts, and the environment its clients
(ahi-upload, boto3, the AWS CLI) need: its fixed credentials, no host-prefix injection, no
instance metadata, no config files, no AHI_* defaults from the caller."""
import os
import subprocess
import time

KEY_ID, SECRET = "AKIAAHILOCAL00000000", "ahi-local-secret-access-key"


def start(binary, data_dir, extra=(), seconds=30):
    """ahi-local on a free loopback port; returns (process, endpoint) or (None, None) if it did not start."""
    proc = subprocess.Popen([binary, "--port", "0", "--data-dir", data_dir] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + seconds
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("listening on "):
            return proc, f"http://127.0.0.1:{int(line.split()[-1])}"
        if not line and proc.poll() is not None:
            break
    proc.kill()
    return None, None


def client_env():
    """os.environ with ahi-local's credentials and nothing that would send a client elsewhere."""
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_DEFAULT_REGION": "us-east-1"})
    for k in list(env):
        if k.startswith("AHI_"):
            del env[k]
    return env
