-- :checkhealth tandem
local M = {}

function M.check()
  local health = vim.health
  health.start('tandem')
  if vim.fn.has('nvim-0.12') == 1 and vim.lsp.inline_completion then
    health.ok('Neovim ' .. tostring(vim.version()) .. ' has built-in inline completion')
  else
    health.error('Neovim 0.12 or newer is needed (vim.lsp.inline_completion)')
  end
  local config = require('tandem').config
  if config.address then
    health.info('attaching over TCP to ' .. config.address)
  elseif config.python then
    local out = vim.fn.system({ config.python, '-c', 'import lsp_server' })
    if vim.v.shell_error == 0 then
      health.ok(config.python .. ' can import Tandem')
    else
      health.error(config.python .. ' cannot import Tandem: ' .. out, 'pip install tandem-code into it')
    end
  elseif vim.fn.executable((config.cmd or { 'tandem' })[1]) == 1 then
    health.ok('server command found: ' .. (config.cmd or { 'tandem' })[1])
  else
    health.error('no `tandem` on PATH', 'set python = "/path/to/python" or cmd = {...} in setup()')
  end
  local client = require('tandem').client()
  if client then
    local status = require('tandem').status()
    health.ok(('server attached: %s'):format(status and status.state or 'no status'))
  else
    health.info('no Tandem server running (open a Python file)')
  end
end

return M
