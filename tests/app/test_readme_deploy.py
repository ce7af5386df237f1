"""README's Deploy and Docker blocks say what a school needs to run them as written: PostgreSQL's
commands without sudo (a root shell), the database password set before the first `up`, and
`compose exec` naming the file its `up` named."""

from __future__ import annotations

import re

from tests.support.settings import REPO


def _block(section: str) -> str:
    readme = (REPO / "README.md").read_text()
    text = readme[readme.index(section) :]
    found = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    assert found is not None, section
    return found.group(1)


def test_deploy_says_how_to_run_postgresqls_commands_without_sudo() -> None:
    block = _block("## Deploy")
    assert "sudo -u postgres psql" in block
    assert "runuser -u postgres -- psql" in block  # root without sudo (a container, a VM)


def test_docker_sets_the_password_first_and_exec_names_its_file() -> None:
    block = _block("## Run it in Docker")
    lines = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    first_up = next(i for i, line in enumerate(lines) if " up " in line)
    assert any(line.startswith("export POSTGRES_PASSWORD=") for line in lines[:first_up])
    compose_file = ""
    for line in lines:
        named = re.search(r"docker compose (-f \S+ )?(up|exec)", line)
        if named is None:
            continue
        if named.group(2) == "up":
            compose_file = named.group(1) or ""
        else:
            assert (named.group(1) or "") == compose_file, line
    compose = (REPO / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-rollcall}" in compose
    assert "rollcall:${POSTGRES_PASSWORD:-rollcall}@postgres" in compose
