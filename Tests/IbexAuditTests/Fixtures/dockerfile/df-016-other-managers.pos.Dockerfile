FROM fedora:40
RUN dnf install -y curl && dnf clean all
RUN yum install -y httpd-2.4.62 && yum clean all
RUN zypper install -y git
RUN go install golang.org/x/tools/gopls@latest
RUN go install golang.org/x/tools/cmd/goimports@v0.26.0
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-016@2 IBX-DF-016@4 IBX-DF-016@5
# expect-not: IBX-DF-016@3 IBX-DF-016@6
