-- Minimal Neovim 0.12 setup for the real-editor test: Tandem over stdio through the
-- built-in LSP client and inline completion. Paths and settings come from the environment.
vim.g.loaded_python3_provider = 0
vim.cmd('filetype plugin indent on')

local settings = vim.json.decode(vim.env.TANDEM_SETTINGS or '{}')
if vim.tbl_isempty(settings) then
  settings = vim.empty_dict()
end
vim.lsp.config('tandem', {
  cmd = { vim.env.TANDEM_PYTHON, '-m', 'lsp_server', 'serve', '-v', '--log-file', vim.env.TANDEM_LOG },
  filetypes = { 'python' },
  root_dir = vim.fn.getcwd(),
  init_options = { tandem = settings },
})
vim.lsp.enable('tandem')
vim.lsp.inline_completion.enable()
