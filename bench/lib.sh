# Shared by the bench scripts: source it, then `install_missing PACKAGE…`; `free_port`; `bench_license`; `bench_config`; `bench_decision_policies`.

# Installs the Debian packages that are missing (apt-get; sudo when not root).
install_missing() {
  local sudo="" need="" p
  [ "$(id -u)" = 0 ] || sudo=sudo
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
  done
  [ -z "$need" ] && return 0
  echo "installing:$need"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
}

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The gatehouse.yml lines every bench shares: the bench instance, the SQLite file, the bench
# vendor key (from bench_license). A script appends its own sections (gate:, …).
bench_config() {  # database-file
  cat <<YAML
instance_url: https://codecov.bench.internal
database: sqlite:$1
license:
  public_keys:
    - {kid: bench, pem_file: vendor.pub.pem}
YAML
}

# In the current directory: a vendor key (vendor.pem, vendor.pub.pem, kid "bench") and a
# license of two million seats (room for a million people and more) in force today for https://codecov.bench.internal (bench.lic).
bench_license() {  # gatehouse-binary
  "$1" license keygen --out vendor.pem --kid bench > vendor.pub.pem 2>/dev/null
  local start end
  start=$(date -u -d "yesterday" +%Y-%m-%d); end=$(date -u -d "+364 days" +%Y-%m-%d)
  cat > terms.json <<JSON
{"license_id":"lic_bench","licensee":"Bench Corp","issued_at":"${start}T00:00:00Z","starts_at":"${start}T00:00:00Z",
 "expires_at":"${end}T00:00:00Z","seats":2000000,"seat_price_cents":25000,"currency":"USD",
 "instance_url":"https://codecov.bench.internal","grace_days":14,"supersedes":null}
JSON
  "$1" license sign --key vendor.pem --kid bench --terms terms.json --out bench.lic >/dev/null
}

# In the current directory: policies/ as bench/authz.lua's decisions expect (GitHub restricted
# to org acme and teams acme/eng, acme/ops; ten deny-listed; an admin), with the shipped seat
# and identity policies.
bench_decision_policies() {  # repository-root
  mkdir -p policies
  cat > policies/login.yml <<'YAML'
login:
  admins: ["github:root"]
  deny: ["github:mallory0", "github:mallory1", "github:mallory2", "github:mallory3", "github:mallory4",
         "github:mallory5", "github:mallory6", "github:mallory7", "github:mallory8", "github:mallory9"]
  github: {allowed_orgs: [acme], allowed_teams: [acme/eng, acme/ops]}
  gitlab: {allowed_groups: [acme]}
YAML
  cp "$1/policies/seats.yml" "$1/policies/identity.yml" policies/
}
