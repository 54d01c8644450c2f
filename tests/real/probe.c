/* Probe for the real-node tests: writes a file into the volume given as argv[1] (exits 1
 * when it cannot, so the pod never becomes Ready), logs one line, then answers every
 * HTTP request on :8080 with "ok". Static, so the image is FROM scratch. */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/workspace/written-by-pod";
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 1; }
    char text[64];
    int n = snprintf(text, sizeof text, "uid=%d\n", (int)getuid());
    if (write(fd, text, n) != n) { perror("write"); return 1; }
    close(fd);
    printf("wrote %s as uid %d\n", path, (int)getuid());
    fflush(stdout);
    signal(SIGTERM, stop);
    int server = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons(8080);
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(server, (struct sockaddr *)&address, sizeof address) || listen(server, 16)) {
        perror("listen");
        return 1;
    }
    const char *reply = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    for (;;) {
        int client = accept(server, NULL, NULL);
        if (client < 0) continue;
        char request[1024];
        (void)read(client, request, sizeof request);
        (void)write(client, reply, strlen(reply));
        close(client);
    }
}
