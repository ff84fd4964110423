# Gatehouse — the two commands a newcomer needs:
#   make run    install build dependencies, build release, start `gatehouse serve --dev`
#   make test   install test dependencies, run the whole test suite
# System packages come from Debian's apt; `sudo` is used only when not root.

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

# What building needs (GRDB links the system SQLite; swift-crypto/NIO need OpenSSL headers;
# the directory client links OpenLDAP).
BUILD_PACKAGES := libsqlite3-dev libssl-dev libldap2-dev pkg-config
# What the tests need besides: the real openssl CLI (key interop, test CAs), python3 (the
# auditor's chain-verification script in docs/), curl (talks to a real `serve --dev`), chromium
# (renders the HTML compliance report headless), slapd and ldap-utils (a real directory per test),
# util-linux (unshare: a private /etc/hosts for the egress tests that use the real resolver;
# runuser), postgresql and its client (a throwaway cluster per test run, started as the
# unprivileged postgres user the package creates), the reverse proxies the gate is tested
# behind (nginx with auth_request, haproxy with Lua, caddy), chromium-driver (WebDriver for the
# browser tests) and python3-venv (the test virtualenv below).
TEST_PACKAGES := $(BUILD_PACKAGES) openssl python3 curl chromium chromium-driver slapd ldap-utils util-linux postgresql \
	postgresql-client nginx haproxy caddy python3-venv faketime
# From PyPI, into .venv-test: a real OpenID Connect provider for the sign-in tests, a real
# SMTP server (STARTTLS, AUTH) for the e-mail notification tests, and axe-core (bundled by
# axe-selenium-python) for the console's accessibility check in the browser, and scim2-tester
# (with its SCIM client over httpx2) to check the SCIM service provider.
TEST_PYPI := oidc-provider-mock==0.3.4 aiosmtpd==1.4.6 axe-selenium-python==2.1.6 'scim2-tester[httpx2]==0.5.2' \
	scim2-client==0.13.2 scim2-models==0.12.3 httpx2==2.16.2

.PHONY: run test build release deps test-deps fuzz clean help

help:
	@echo "make run    build (release) and start a throwaway dev server"
	@echo "make test   run the whole test suite"
	@echo "make build  debug build;  make release  release build"
	@echo "make fuzz   fuzz the HTTP API from its OpenAPI document (schemathesis)"

# Installs only what is missing, so a second run costs nothing.
define apt_install
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PACKAGES))

test-deps:
	$(call apt_install,$(TEST_PACKAGES))
	@if ! .venv-test/bin/python -c 'import oidc_provider_mock, aiosmtpd, axe_selenium_python, scim2_tester, httpx2' 2>/dev/null; then \
		echo "installing into .venv-test: $(TEST_PYPI)"; \
		python3 -m venv .venv-test && .venv-test/bin/pip install -q --disable-pip-version-check $(TEST_PYPI); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/gatehouse serve --dev

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Fuzz the HTTP API from its OpenAPI document (schemathesis from PyPI, in .venv-fuzz).
fuzz: test-deps
	$(call apt_install,python3-venv)
	scripts/fuzz-api.sh

clean:
	rm -rf .build
