#!/usr/bin/env bash
# Drives `novac lsp` from a headless Neovim (Debian's, 0.7+): diagnostics,
# hover and formatting come back. Usage: editors/nvim_smoke.sh [NOVAC_BIN]
# Needs `nvim` (apt-get install neovim); exits 0 on success.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
novac=${1:-${NOVAC_BIN:-${CARGO_TARGET_DIR:-$here/../target}/debug/novac}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/rule.nov" <<'RULE'
rule Smoke
{
    keywords:
        $a = "ignore previous"
    condition:
        $a or $b
}
RULE
cat > "$work/smoke.lua" <<LUA
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({ name = "novac", cmd = { "$novac", "lsp", "--isolated" }, root_dir = "$work" })
vim.lsp.buf_attach_client(buf, id)
local client = vim.lsp.get_client_by_id(id)
local ok = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
local out = {}
if not ok then out[#out + 1] = "FAIL: no diagnostics" else
  local d = vim.diagnostic.get(buf)[1]
  out[#out + 1] = "diagnostic " .. tostring(d.code) .. " line " .. d.lnum .. ": " .. d.message:gsub("\n", " | ")
end
local pos = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 5, character = 9 } }
local hover = client.request_sync("textDocument/hover", pos, 10000, buf)
out[#out + 1] = "hover: " .. ((hover and hover.result and hover.result.contents.value) or "FAIL"):gsub("\n", " ")
local fmt = client.request_sync("textDocument/formatting",
  { textDocument = pos.textDocument, options = { tabSize = 4, insertSpaces = true } }, 10000, buf)
out[#out + 1] = "formatting: " .. ((fmt and fmt.err and fmt.err.message) or ("edits " .. #(fmt and fmt.result or {})))
vim.fn.writefile(out, "$work/result.txt")
vim.cmd("qa!")
LUA
timeout 120 nvim --headless -n -u NONE "$work/rule.nov" -c "luafile $work/smoke.lua" > /dev/null 2>&1 || true
cat "$work/result.txt"
grep -q "^diagnostic E101 line 5" "$work/result.txt"
grep -q "^hover: \*\*\$a\*\*" "$work/result.txt"
