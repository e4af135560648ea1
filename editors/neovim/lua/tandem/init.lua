-- Tandem for Neovim 0.12+: the built-in LSP client and inline completion, configured in
-- one call. All intelligence lives in the server; this only starts it (or attaches to
-- one over TCP), shows its ghost text and accepts it.
local M = {}

--- Defaults; every key can be passed to setup().
M.defaults = {
  -- How to start the server: `python` (an interpreter with Tandem installed) runs
  -- `python -m lsp_server serve`; otherwise `cmd` (default: the `tandem` script on PATH).
  python = nil,
  cmd = nil,
  server_args = {}, -- extra arguments, e.g. { '-v', '--log-file', '/tmp/tandem.log' }
  -- 'host:port' of a running `tandem serve --tcp` (a dev container): attach instead.
  address = nil,
  -- With `address`: a file holding the server's access token (else $TANDEM_TOKEN), sent as
  -- initializationOptions.token. Never the token itself here.
  token_file = nil,
  filetypes = { 'python' },
  -- The server's `tandem` section (:help tandem-settings), sent as given: no key list here,
  -- so a setting the server adds needs no change in this plugin.
  settings = {},
  -- Insert-mode keys; false to map nothing. Unused keys fall through to their default.
  keymaps = { accept = '<Tab>', accept_line = '<C-l>' },
}

M.config = vim.deepcopy(M.defaults)

local function server_cmd(config)
  if config.address then
    local host, port = config.address:match('^(.+):(%d+)$')
    assert(host, 'tandem: address must be host:port, got ' .. config.address)
    return vim.lsp.rpc.connect(host, tonumber(port))
  end
  local cmd = config.cmd or (config.python and { config.python, '-m', 'lsp_server', 'serve' }) or { 'tandem', 'serve' }
  return vim.list_extend(vim.deepcopy(cmd), config.server_args)
end

--- The access token for `address` (initializationOptions.token), or nil without one.
local function access_token(config)
  if not config.address then
    return nil -- a server of our own over stdio needs none
  end
  if config.token_file then
    local path = vim.fs.normalize(config.token_file)
    local file = io.open(path, 'r')
    if not file then
      vim.notify('Tandem: cannot read token_file ' .. path, vim.log.levels.ERROR)
      return nil
    end
    local token = vim.trim(file:read('*a') or '')
    file:close()
    return token ~= '' and token or nil
  end
  local token = vim.trim(vim.env.TANDEM_TOKEN or '')
  return token ~= '' and token or nil
end

--- The Tandem client attached to `bufnr`, or (no `bufnr`) the current buffer's, else any.
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = 'tandem', bufnr = bufnr or 0 })
  if #clients == 0 and bufnr == nil then
    clients = vim.lsp.get_clients({ name = 'tandem' })
  end
  return clients[1]
end

--- Accept the whole suggestion; false when none is shown.
function M.accept()
  return vim.lsp.inline_completion.get()
end

--- Accept the suggestion's first line (and the next line's indentation); the rest is
--- suggested again at once (the server answers typed-through text from its cache).
function M.accept_line()
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      local text = type(item.insert_text) == 'string' and item.insert_text or item.insert_text.value
      local first, rest = text:match('^([^\n]*\n)(.*)$')
      if not first then
        return vim.lsp.inline_completion.get() -- one line: the whole of it
      end
      first = first .. (rest:match('^[ \t]*') or '')
      local start = item.range and item.range.start:to_cursor() or vim.api.nvim_win_get_cursor(0)
      local lines = vim.split(first, '\n')
      vim.api.nvim_buf_set_text(0, start[1] - 1, start[2], start[1] - 1, start[2], lines)
      vim.api.nvim_win_set_cursor(0, { start[1] + #lines - 1, #lines[#lines] })
    end,
  })
end

--- The server's `tandem/status` (models, device, settings, statistics), or nil.
function M.status(bufnr)
  local client = M.client(bufnr)
  if not client then
    return nil, 'no Tandem server is attached to this buffer'
  end
  local attached = bufnr or next(client.attached_buffers) or 0
  local response = client:request_sync('tandem/status', vim.empty_dict(), 5000, attached)
  if not response or response.err then
    return nil, response and response.err and response.err.message or 'no answer within 5 s'
  end
  return response.result
end

local function show_status()
  local status, err = M.status()
  if not status then
    return vim.notify('Tandem: ' .. err, vim.log.levels.WARN)
  end
  local models, stats = status.models or {}, status.stats or {}
  local lines = {
    ('Tandem %s — %s'):format(status.version or '?', status.state or '?'),
    ('target %s'):format(models.target and models.target.path or '–'),
    ('draft  %s'):format(models.draft and models.draft.path or '–'),
    ('device %s / %s'):format(models.device or '–', models.dtype or '–'),
    ('requests %d, answered %d, type-through %d, cancelled %d'):format(
      stats.requests or 0, stats.answered or 0, stats.typeThrough or 0, stats.cancelled or 0),
    ('latency ms p50 %s, p95 %s'):format(tostring(stats.latencyMs and stats.latencyMs.p50),
      tostring(stats.latencyMs and stats.latencyMs.p95)),
    ('acceptance %s, KV reuse %s'):format(tostring(stats.acceptanceRate), tostring(stats.kvReuse)),
  }
  if status.error and status.error ~= vim.NIL then
    table.insert(lines, 'error: ' .. status.error)
  end
  vim.notify(table.concat(lines, '\n'), vim.log.levels.INFO)
end

local function map(lhs, accept)
  if not lhs then
    return
  end
  vim.keymap.set('i', lhs, function()
    if not accept() then
      return vim.api.nvim_replace_termcodes(lhs, true, false, true)
    end
  end, { expr = true, desc = 'Tandem: accept the suggestion' })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local config = M.config
  local settings = vim.tbl_isempty(config.settings) and vim.empty_dict() or config.settings
  vim.lsp.config('tandem', {
    cmd = server_cmd(config),
    filetypes = config.filetypes,
    root_markers = { 'pyproject.toml', 'setup.py', '.git' },
    init_options = { tandem = settings, token = access_token(config) },
    settings = { tandem = settings },
  })
  vim.lsp.enable('tandem')
  vim.lsp.inline_completion.enable()
  if config.keymaps then
    map(config.keymaps.accept, M.accept)
    map(config.keymaps.accept_line, M.accept_line)
  end
  vim.api.nvim_create_user_command('TandemStatus', show_status, { desc = 'Tandem: models, device and statistics' })
end

return M
