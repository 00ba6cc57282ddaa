#!/bin/sh
try() { name=$1; shift; if ( "$@" ) > /dev/null 2>&1; then echo "$name: ESCAPED"; else echo "$name: blocked"; fi >> report.txt; }
try home_write sh -c 'echo x > "$HOME/escaped"'
try ssh_read sh -c 'grep -q SECRET "$HOME/.ssh/id_ed25519"'
try other_worktree sh -c 'echo x >> "$OTHER_WORKTREE/README.md"'
try main_checkout sh -c 'echo x >> "$MAIN_CHECKOUT/README.md"'
try move_base git update-ref refs/heads/main HEAD
try push git push "$REMOTE" HEAD:refs/heads/pushed
try shared_config git config --file "$MAIN_CHECKOUT/.git/config" user.name Mallory
try engine_environment sh -c 'cat /proc/*/environ 2>/dev/null | tr "\0" "\n" | grep -q -e sk-not-for-you -e "unix:path="'
try provider_key sh -c 'env | grep -q OPENAI_API_KEY'
try config_secret sh -c 'cat "$(git rev-parse --git-common-dir)/config" | grep -q -e ghp_config_secret -e header_secret'
try service_token sh -c 'env | grep -q -e GH_TOKEN -e AWS_SECRET_ACCESS_KEY -e ghp_not_for_you -e GITHUB_PAT -e pw-not-for-you'
try unknown_provider_key sh -c 'env | grep -q -e MISTRAL_API_KEY -e mistral-not-for-you'
try dbus sh -c 'test -n "$DBUS_SESSION_BUS_ADDRESS" || python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$BUS_SOCKET"'
try other_server python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=3)" "$OTHER_SERVER"
try gitfile sh -c 'echo "gitdir: /tmp/elsewhere/.git" > .git'
try commondir sh -c 'echo /tmp/elsewhere > "$(git rev-parse --absolute-git-dir)/commondir"'
try worktree_config sh -c 'printf "[core]\n\tfsmonitor = touch /tmp/x\n" >> "$(git rev-parse --absolute-git-dir)/config.worktree"'
try host_socket python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$HOST_SOCKET"
( unset GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES; git init -q sub && cd sub && git config core.fsmonitor "touch /tmp/fsmonitor-ran-$MARK" \
  && git commit -q --allow-empty -m sub ) > /dev/null 2>&1
git update-index --add --cacheinfo "160000,$(git -C sub rev-parse HEAD),sub" > /dev/null 2>&1
try other_socket python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$OTHER_SOCKET"
try capabilities sh -c '! grep -Eq "^CapEff:[[:space:]]+0+$" /proc/self/status'
touch "$HOME/said-so"
setsid sh -c 'sleep 300; :' "left-behind-$MARK" > /dev/null 2>&1 &
echo works > made.txt
git add made.txt && git commit -q -m "the agent commits by itself" && echo "commit: done" >> report.txt
test "$KEPT_TOKEN" = kept-on-purpose && echo "kept: done" >> report.txt
# Last (its own git would write through them too): links and a FIFO in its worktree's git
# dir, for the engine's git (outside, after the run) to write through.
GD=$(git rev-parse --absolute-git-dir)
rm -f "$GD/logs/HEAD" && ln -s "$HOME/escaped-reflog" "$GD/logs/HEAD"
ln -s "$HOME/escaped-message" "$GD/COMMIT_EDITMSG" 2> /dev/null
mkfifo "$GD/ORIG_HEAD"
echo "after the links" > after.txt
