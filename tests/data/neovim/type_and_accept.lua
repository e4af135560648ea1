-- Drives a real editing session: go to a line, type real keys in insert mode, wait for
-- Tandem's ghost text, accept it, and write what happened to $TANDEM_RESULT as JSON.
-- Everything runs from the main loop (autocmds and timers), so the keys are processed
-- exactly as typed keys are, and LSP messages arrive meanwhile.
local result = {}
local ns = vim.api.nvim_create_namespace('nvim.lsp.inline_completion')
local deadline = vim.uv.now() + tonumber(vim.env.TANDEM_WAIT_MS or '90000')

local function buffer_text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), '\n')
end

local function finish(error)
  result.error = error
  result.after = buffer_text()
  if vim.env.TANDEM_HEALTH == '1' then
    vim.cmd('checkhealth tandem')
    result.health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  end
  local file = assert(io.open(vim.env.TANDEM_RESULT, 'w'))
  file:write(vim.json.encode(result))
  file:close()
  vim.cmd('qa!')
end

local function ghost_text()
  local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local parts = {}
  for _, chunk in ipairs(marks[1][4].virt_text or {}) do
    table.insert(parts, chunk[1])
  end
  for _, line in ipairs(marks[1][4].virt_lines or {}) do
    local text = {}
    for _, chunk in ipairs(line) do
      table.insert(text, chunk[1])
    end
    table.insert(parts, '\n' .. table.concat(text))
  end
  return table.concat(parts)
end

-- Poll `condition` every 50 ms from the main loop; call `next` once it holds.
local function when(condition, what, next)
  local function poll()
    local ok, value = pcall(condition)
    if not ok then
      return finish(value)
    end
    if value then
      return next(value)
    end
    if vim.uv.now() > deadline then
      return finish('timed out waiting for ' .. what)
    end
    vim.defer_fn(poll, 50)
  end
  poll()
end

local function on_attach()
  vim.api.nvim_win_set_cursor(0, { tonumber(vim.env.TANDEM_LINE), 0 })
  local keys = vim.api.nvim_replace_termcodes(vim.env.TANDEM_KEYS, true, false, true)
  vim.api.nvim_feedkeys(keys, 't', false)
  vim.defer_fn(function()
    result.before = buffer_text()
    result.mode = vim.api.nvim_get_mode().mode
    when(ghost_text, 'ghost text', function(ghost)
      result.ghost = ghost
      local accept = ({
        line = function() return require('tandem').accept_line() end,
        plugin = function() return require('tandem').accept() end,
      })[vim.env.TANDEM_ACCEPT or ''] or vim.lsp.inline_completion.get
      result.accepted = accept()
      when(function() return buffer_text() ~= result.before end, 'the accepted text', function()
        finish(nil)
      end)
    end)
  end, 100)
end

vim.api.nvim_create_autocmd('LspAttach', {
  once = true,
  callback = function()
    vim.schedule(on_attach)
  end,
})
