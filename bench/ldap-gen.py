#!/usr/bin/env python3
"""Writes the LDIF for bench/ldap-sync.sh: PEOPLE inetOrgPerson entries under ou=people and
GROUPS groupOfNames under ou=groups, dc=acme,dc=com. Each person is in about three groups;
every tenth group also nests the next one, so nesting is resolved at scale too."""
import random
import sys

people, groups = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(42)
out = sys.stdout
for i in range(people):
    uid = f"user{i:06d}"
    out.write(f"dn: uid={uid},ou=people,dc=acme,dc=com\nobjectClass: inetOrgPerson\nuid: {uid}\n"
              f"cn: User {i}\nsn: {i}\nmail: {uid}@acme.com\n\n")
members = [[] for _ in range(groups)]
for i in range(people):
    for g in rng.sample(range(groups), 3):
        members[g].append(f"uid=user{i:06d},ou=people,dc=acme,dc=com")
for g in range(groups):
    out.write(f"dn: cn=group{g:05d},ou=groups,dc=acme,dc=com\nobjectClass: groupOfNames\ncn: group{g:05d}\n")
    if g % 10 == 0 and g + 1 < groups:
        members[g].append(f"cn=group{g + 1:05d},ou=groups,dc=acme,dc=com")
    for m in members[g] or ["cn=nobody,dc=acme,dc=com"]:
        out.write(f"member: {m}\n")
    out.write("\n")
