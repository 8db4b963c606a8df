"""The fidelity tier: the emulator proved by a client nobody here wrote.

`nox -s fidelity` installs the official Symphony BDK for Python (`symphony-bdk-python`,
pinned in noxfile.py) in a virtualenv of its own and runs `python -m fidelity`, which
serves the emulator over HTTPS and drives the unmodified BDK through every step of
fidelity/steps.py: RSA login, session info, health, the datafeed, messages (send, read, list,
update, suppress, attachments), users, IMs, rooms and their members, streams, re-login after
a revocation, certificate login (refused by default, as Symphony refuses the BDK's
Content-Type since March 2025; accepted in lenient mode), and an app's endpoints: on behalf
of a user (by username and by user id, renewed after a 401, refused when not entitled),
extension-app authentication, a user JWT validated with the pod certificate, and the access
token of `/login/idm/tokens` checked with `/login/idm/keys`. A failed step names the side at
fault: the emulator, the BDK, or the harness itself.

- `harness.py`: the emulators, the BDK process, the step runner and its report;
- `steps.py`: the steps, one per thing the BDK does (and the routes each proves), gathered
  from `bot_steps.py` (the BDK as a bot) and `app_steps.py` (the BDK as an app);
- `client_bdk.py`: the executor that runs inside the BDK's virtualenv.
"""
