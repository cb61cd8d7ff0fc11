# escape=`
# Windows: backtick continues lines, a trailing backslash is a literal (C:\), and POSIX
# shell rules (pipefail, curl -k, apk) do not apply.
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN mkdir C:\app\
RUN powershell -Command `
    Invoke-WebRequest https://example.com/a.zip -OutFile C:\a.zip | Out-Null
WORKDIR C:\app
USER ContainerUser
HEALTHCHECK NONE
CMD ["C:\\app\\app.exe"]
# expect-not: IBX-DF-029 IBX-DF-030 IBX-DF-001
